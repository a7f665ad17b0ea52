# State lives in Cloud Storage, so that every operator and the deploy script
# apply against the same state. The bucket is given at init:
#   terraform init -backend-config=bucket=BUCKET
# scripts/deploy/deploy.sh does this with its -s bucket (default: the source
# bucket, where it turns on object versioning to keep earlier states).
terraform {
  backend "gcs" {
    prefix = "custom-conversions/terraform"
  }
}
