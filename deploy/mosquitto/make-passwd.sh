#!/bin/sh
# Generate the Mosquitto password file for the bridge and every gateway of a sensors registry.
#
#   ./make-passwd.sh PASSWD_FILE SENSORS_YAML [CREDENTIALS_OUT]
#
# Each user gets a random password (hashed in PASSWD_FILE with mosquitto_passwd -b). The clear
# passwords are written once to CREDENTIALS_OUT (default PASSWD_FILE.credentials, mode 600) so
# they can be provisioned to the gateways; store them in your secret manager and delete the file.
# Needs python3 with PyYAML (set PYTHON=… to choose the interpreter, e.g. the Anlan venv).
# Add a single user later with:  mosquitto_passwd -b PASSWD_FILE <gateway-id> <password>
set -eu
passwd_file=${1:?usage: make-passwd.sh PASSWD_FILE SENSORS_YAML [CREDENTIALS_OUT]}
sensors=${2:?usage: make-passwd.sh PASSWD_FILE SENSORS_YAML [CREDENTIALS_OUT]}
creds=${3:-$passwd_file.credentials}
command -v mosquitto_passwd >/dev/null || { echo "mosquitto_passwd not found (apt-get install mosquitto)" >&2; exit 2; }
users=$("${PYTHON:-python3}" -c 'import sys, yaml; print("\n".join(["anlan-bridge", *(yaml.safe_load(open(sys.argv[1])) or {}).get("gateways", {})]))' "$sensors")
umask 077
: > "$passwd_file"
: > "$creds"
for user in $users; do
  password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
  mosquitto_passwd -b "$passwd_file" "$user" "$password"
  printf '%s:%s\n' "$user" "$password" >> "$creds"
done
echo "wrote $(echo "$users" | wc -l) users to $passwd_file; clear passwords in $creds"
