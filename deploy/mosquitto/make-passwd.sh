#!/bin/sh
# Generate the Mosquitto password file for the bridge and every gateway of a sensors registry.
#
#   sudo ./make-passwd.sh PASSWD_FILE SENSORS_YAML [CREDENTIALS_OUT]
#
# Each user gets a random password (hashed in PASSWD_FILE with mosquitto_passwd -b). The clear
# passwords are written once to CREDENTIALS_OUT (default PASSWD_FILE.credentials, mode 600) so
# they can be provisioned to the gateways; store them in your secret manager and delete the file.
# Needs python3 with PyYAML (set PYTHON=… to choose the interpreter, e.g. the Anlan venv).
#
# A packaged Mosquitto starts as root and drops to the user `mosquitto` before it reads the
# password file, so the file must be readable by that user and no one else: run as root, the
# script makes it owned by mosquitto:mosquitto, mode 0600 (what Mosquitto 2.0 accepts without
# warnings; set MOSQUITTO_USER=… for a broker running as another user). Run as another user, the
# file stays yours, mode 0600 — right for a Mosquitto running as you.
# Add a single user later with:  sudo mosquitto_passwd -b PASSWD_FILE <gateway-id> <password>
# (mosquitto_passwd rewrites the file in place and keeps its owner and mode).
set -eu
passwd_file=${1:?usage: make-passwd.sh PASSWD_FILE SENSORS_YAML [CREDENTIALS_OUT]}
sensors=${2:?usage: make-passwd.sh PASSWD_FILE SENSORS_YAML [CREDENTIALS_OUT]}
creds=${3:-$passwd_file.credentials}
broker_user=${MOSQUITTO_USER:-mosquitto}
command -v mosquitto_passwd >/dev/null || { echo "mosquitto_passwd not found (apt-get install mosquitto)" >&2; exit 2; }
if [ "$(id -u)" = 0 ] && ! id "$broker_user" >/dev/null 2>&1; then
  echo "user $broker_user does not exist: install mosquitto, or set MOSQUITTO_USER" >&2
  exit 2
fi
users=$("${PYTHON:-python3}" -c 'import sys, yaml; print("\n".join(["anlan-bridge", *(yaml.safe_load(open(sys.argv[1])) or {}).get("gateways", {})]))' "$sensors")
umask 077
: > "$passwd_file"
: > "$creds"
for user in $users; do
  password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
  mosquitto_passwd -b "$passwd_file" "$user" "$password"
  printf '%s:%s\n' "$user" "$password" >> "$creds"
done
chmod 0600 "$passwd_file" "$creds"
if [ "$(id -u)" = 0 ]; then
  chown "$broker_user:$(id -gn "$broker_user")" "$passwd_file"
  owner="$broker_user"
else
  owner="$(id -un) (Mosquitto must run as this user to read it)"
fi
echo "wrote $(echo "$users" | wc -l) users to $passwd_file (owner $owner, mode 0600); clear passwords in $creds"
