#!/usr/bin/env bash
# deploy.sh packages both functions, uploads the source archive to Cloud
# Storage and applies the Terraform in infra/ with that archive.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/deploy/deploy.sh -p PROJECT -b BUCKET [options] [-- TERRAFORM_ARGS...]

Packages the functions (scripts/package), uploads the archive to
gs://BUCKET/custom-conversions/function-source-DIGEST.zip (creating the
bucket, with object versioning, when it does not exist) and runs terraform
init and apply in infra/ with project_id, source_bucket and source_object
set. The object is named by the archive's digest: the same source gives the
same name, and Terraform rebuilds the functions only when the source
changed. Terraform keeps its state in the state bucket under
custom-conversions/terraform.

Required:
  -p PROJECT   Google Cloud project id (sets project_id)
  -b BUCKET    bucket for the source archive, such as PROJECT-cc-source

Options:
  -s BUCKET    bucket of the Terraform state (default: the -b bucket)
  -r REGION    location of the bucket if it must be created
               (default: us-central1)
  -f FILE      Terraform variables file, relative to infra/ or absolute
               (default: infra/terraform.tfvars when it exists)
  -y           apply without asking (terraform -auto-approve)
  -k           keep the local archive and print its path
  -h           show this help

Arguments after -- go to terraform apply as they are, such as
-target=... or -var=...

Needs go, gcloud and terraform on PATH, and credentials that may create
buckets and apply infra/ (see infra/RUNBOOK.md).
EOF
}

die() {
  echo "deploy: $*" >&2
  exit 1
}

project=""
bucket=""
state_bucket=""
region="us-central1"
var_file=""
auto_approve=""
keep=""

while getopts ":p:b:s:r:f:ykh" opt; do
  case "$opt" in
    p) project="$OPTARG" ;;
    b) bucket="$OPTARG" ;;
    s) state_bucket="$OPTARG" ;;
    r) region="$OPTARG" ;;
    f) var_file="$OPTARG" ;;
    y) auto_approve="-auto-approve" ;;
    k) keep=1 ;;
    h) usage; exit 0 ;;
    :) usage >&2; die "-$OPTARG needs a value" ;;
    *) usage >&2; die "unknown option -$OPTARG" ;;
  esac
done
shift $((OPTIND - 1))
if [[ "${1:-}" == "--" ]]; then
  shift
fi

[[ -n "$project" ]] || { usage >&2; die "-p PROJECT is required"; }
[[ -n "$bucket" ]] || { usage >&2; die "-b BUCKET is required"; }
[[ "$bucket" != gs://* && "$state_bucket" != gs://* ]] || die "give bucket names without gs://"
state_bucket="${state_bucket:-$bucket}"

for tool in go gcloud terraform; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is not on PATH"
done
if command -v sha256sum >/dev/null 2>&1; then
  digest() { sha256sum "$1" | cut -c1-16; }
elif command -v shasum >/dev/null 2>&1; then
  digest() { shasum -a 256 "$1" | cut -c1-16; }
else
  die "neither sha256sum nor shasum is on PATH"
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
infra="$root/infra"
[[ -f "$infra/variables.tf" ]] || die "no Terraform in $infra"

tfvars=()
if [[ -n "$var_file" ]]; then
  # Terraform runs in infra/: make a path from here absolute.
  if [[ "$var_file" != /* ]]; then
    if [[ -f "$var_file" ]]; then
      var_file="$PWD/$var_file"
    else
      var_file="$infra/$var_file"
    fi
  fi
  [[ -f "$var_file" ]] || die "no variables file $var_file"
  tfvars=(-var-file="$var_file")
elif [[ -f "$infra/terraform.tfvars" ]]; then
  echo "deploy: using infra/terraform.tfvars" >&2
fi

work="$(mktemp -d)"
cleanup() {
  if [[ -z "$keep" ]]; then
    rm -rf "$work"
  fi
}
trap cleanup EXIT

# 1. Package.
archive="$work/function-source.zip"
(cd "$root" && go run ./scripts/package -o "$archive") >/dev/null
object="custom-conversions/function-source-$(digest "$archive").zip"
if [[ -n "$keep" ]]; then
  echo "deploy: archive kept at $archive" >&2
fi

# 2. Upload, once per content.
ensure_bucket() {
  if ! gcloud storage buckets describe "gs://$1" --project="$project" >/dev/null 2>&1; then
    echo "deploy: creating gs://$1 in $region" >&2
    gcloud storage buckets create "gs://$1" --project="$project" \
      --location="$region" --uniform-bucket-level-access --public-access-prevention
    gcloud storage buckets update "gs://$1" --versioning
  fi
}
ensure_bucket "$bucket"
if [[ "$state_bucket" != "$bucket" ]]; then
  ensure_bucket "$state_bucket"
fi
if gcloud storage objects describe "gs://$bucket/$object" >/dev/null 2>&1; then
  echo "deploy: gs://$bucket/$object is already uploaded" >&2
else
  gcloud storage cp "$archive" "gs://$bucket/$object"
fi

# 3. Apply.
terraform -chdir="$infra" init -input=false -backend-config="bucket=$state_bucket"
terraform -chdir="$infra" apply -input=false ${auto_approve:+"$auto_approve"} \
  ${tfvars[@]+"${tfvars[@]}"} \
  -var="project_id=$project" \
  -var="source_bucket=$bucket" \
  -var="source_object=$object" \
  "$@"
