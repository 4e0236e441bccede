#!/bin/sh
# Makes the cluster's secrets in ./secrets: the cookie, a private certificate authority and a
# certificate it signs for the nodes (here one for 127.0.0.1, shared by both local nodes; in
# production one per node, for its host name or address).
set -eu
mkdir -p secrets && cd secrets
umask 077
openssl rand -base64 32 > cookie
openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=my-cluster-ca" -keyout ca.key -out ca.pem 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout node.key -out node.csr 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' > node.ext
openssl x509 -req -in node.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 365 -extfile node.ext -out node.pem 2>/dev/null
rm -f node.csr node.ext ca.srl
echo "secrets/: cookie, ca.pem (+ ca.key: keep it off the nodes), node.pem, node.key"
