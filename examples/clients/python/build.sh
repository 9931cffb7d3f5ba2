#!/usr/bin/env bash
# Generates the Python stubs of dispatch.v1 into gen/ (grpcio-tools, no
# system protoc). Run after `pip install -r requirements.txt`.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
proto="$here/../../../proto"
rm -rf "$here/gen" && mkdir -p "$here/gen"
python3 -m grpc_tools.protoc -I "$proto" \
  --python_out="$here/gen" --grpc_python_out="$here/gen" \
  "$proto/dispatch/v1/dispatch.proto"
echo "stubs in $here/gen"
