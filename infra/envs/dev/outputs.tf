output "service_urls" {
  description = "run.app URL of each Cloud Run service."
  value       = { for name, svc in module.service : name => svc.uri }
}
