#!/usr/bin/env python3
"""Consistency checks of the shipped GitHub Action and example workflow that actionlint does
not make: every `inputs.X` the composite action uses is declared, every output names a step
that exists, and every `with:` key the example passes to the action (`uses: ./`) is one of its
inputs. Needs PyYAML; without it, says so and passes."""

import re
import sys

try:
    import yaml
except ImportError:
    print("PyYAML is not installed: the action consistency check was skipped", file=sys.stderr)
    sys.exit(0)

errors = []
action = yaml.safe_load(open("action.yml"))
inputs = set(action.get("inputs", {}))
runs = action.get("runs", {})
if runs.get("using") != "composite":
    errors.append("action.yml: runs.using is not composite")
steps = runs.get("steps", [])
ids = {s["id"] for s in steps if "id" in s}
text = open("action.yml").read()
for name in re.findall(r"\binputs\.([A-Za-z0-9_-]+)", text):
    if name not in inputs:
        errors.append(f"action.yml: inputs.{name} is not declared")
for step_id in re.findall(r"\bsteps\.([A-Za-z0-9_-]+)\.outputs", text):
    if step_id not in ids:
        errors.append(f"action.yml: steps.{step_id} does not exist")
for i, s in enumerate(steps):
    if "run" in s and "shell" not in s:
        errors.append(f"action.yml: step {i + 1} runs a script without `shell` (required in composite actions)")
    if ("run" in s) == ("uses" in s):
        errors.append(f"action.yml: step {i + 1} needs exactly one of run/uses")
for name, spec in action.get("inputs", {}).items():
    if "description" not in spec:
        errors.append(f"action.yml: input {name} has no description")

workflow = yaml.safe_load(open("examples/github-workflow.yml"))
for job_name, job in workflow.get("jobs", {}).items():
    for s in job.get("steps", []):
        if s.get("uses") == "./":
            for key in s.get("with", {}):
                if key not in inputs:
                    errors.append(f"examples/github-workflow.yml: job {job_name} passes `{key}`, which action.yml does not declare")

for e in errors:
    print(e, file=sys.stderr)
if errors:
    sys.exit(1)
print("action.yml and examples/github-workflow.yml are consistent")
