# Example settings; copy to a file of your own (terraform.tfvars or
# prod.tfvars) and adjust. scripts/deploy/deploy.sh passes source_bucket
# and source_object itself.

project_id         = "acme-attribution-prod"
region             = "europe-west2"
bigquery_location  = "EU"
firestore_location = "eur3"

job_priority     = "interactive"
reject_threshold = 0.05

clients = {
  acme = {
    schedule            = "30 6 * * *"
    time_zone           = "Europe/London"
    attribution_dataset = "acme_attribution"
    source_datasets     = ["acme-crm-prod.crm"]
  }
  globex = {
    schedule            = "0 7 * * *"
    time_zone           = "Europe/Berlin"
    attribution_project = "globex-analytics"
    attribution_dataset = "attribution"
  }
}

rerun_publishers = ["group:data-engineering@example.com"]
alert_emails     = ["data-alerts@example.com"]
