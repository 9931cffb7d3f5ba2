# Shared by the bench scripts that serve over loopback: sourced, not run.

# A free loopback port.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Starts the Python peer (bench/peer_grpc_python.py) on 127.0.0.1:PORT,
# its output in WORK/peer.out and WORK/peer.err, under the command PREFIX
# if one is given (e.g. taskset -c 1). Sets peer_pid and returns once the
# peer serves; exits with its errors if it dies or does not serve in 120 s.
start_python_peer() { # PORT WORK DATA [PREFIX...]
  local port=$1 work=$2 data=$3
  shift 3
  python3 -c 'import grpc, grpc_tools, sklearn' 2>/dev/null || {
    echo "the Python peer needs grpcio and scikit-learn: python3 -m pip install -r bench/requirements-peer-grpc.txt" >&2
    exit 1
  }
  echo "== Python peer on 127.0.0.1:$port (training at start-up)" >&2
  "$@" python3 bench/peer_grpc_python.py --port "$port" --data "$data" \
    >"$work/peer.out" 2>"$work/peer.err" &
  peer_pid=$!
  for _ in $(seq 600); do
    grep -q SERVING "$work/peer.out" 2>/dev/null && break
    kill -0 "$peer_pid" 2>/dev/null || { cat "$work/peer.err" >&2; echo "peer died" >&2; exit 1; }
    sleep 0.2
  done
  grep -q SERVING "$work/peer.out" || { echo "peer not serving after 120 s" >&2; exit 1; }
  cat "$work/peer.err" >&2
}

# Waits until the dispatch-tagger BIN serving on 127.0.0.1:PORT answers a
# health check; exits with its log (LOG) if process PID dies first or it
# does not serve within 20 s.
wait_serving() { # BIN PORT PID LOG
  local bin=$1 port=$2 pid=$3 log=$4
  for _ in $(seq 400); do
    "$bin" healthcheck --addr "http://127.0.0.1:$port" --timeout 1 >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; echo "server died" >&2; exit 1; }
    sleep 0.05
  done
  echo "server not serving after 20 s" >&2
  exit 1
}
