output "service_urls" {
  description = "run.app URL of each Cloud Run service (only reachable through the load balancer)."
  value       = { for name, svc in module.service : name => svc.uri }
}

output "load_balancer_ip" {
  description = "IP address to point the jualuma.com DNS records at."
  value       = google_compute_global_address.lb.address
}
