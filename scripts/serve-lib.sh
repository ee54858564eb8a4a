# Helpers for scripts that run `crowsnest serve` over the test bed (scripts/demo,
# scripts/console-test). Source after lib.sh.
# shellcheck shell=bash

# free_port: a port the kernel hands out now (for servers that take no port 0).
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# shop_manifest REGISTRY: examples/shop for the kube-apiserver bed on stdout. Its
# cluster-admin ClusterRole document is left out (a real API server has that role), and
# the web pod its Deployment would create is added: the bed runs no controllers.
shop_manifest() {
  python3 - "$1" <<'PY'
import sys
registry = sys.argv[1]
docs = open("examples/shop/shop.yaml").read().split("\n---\n")
docs = [d for d in docs if not ("kind: ClusterRole\n" in d and "name: cluster-admin}" in d)]
docs.append("""apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: shop, labels: {app: web}}
spec:
  serviceAccountName: web
  containers:
    - name: app
      image: REGISTRY/crowsnest/app-bookworm:1.0
      ports: [{containerPort: 8080}]""")
print("\n---\n".join(docs).replace("REGISTRY", registry))
PY
}

# wait_first_assessment API TOKEN PIDFILE LOG [SECONDS]: until the feeds are synced, no
# job is waiting or running, every registry/cluster/feed target has succeeded once and all
# three kinds are there. Fails (with the log's tail) when serve exits or time runs out.
wait_first_assessment() {
  local api="$1" token="$2" pidfile="$3" logfile="$4" limit="${5:-900}" start=$SECONDS state
  while :; do
    if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      tail -20 "$logfile" >&2
      log "crowsnest serve exited"
      return 1
    fi
    state=$(curl -sS --fail-with-body -H "Authorization: Bearer $token" "$api/api/v1/status" 2>/dev/null | python3 -c '
import json, sys
s = json.load(sys.stdin)
q = s.get("queue", {})
busy = q.get("ready", 0) + q.get("running", 0) + q.get("delayed", 0)
targets = s.get("targets", [])
kinds = {t["kind"] for t in targets}
ok = all(t.get("last_success") is not None for t in targets)
print("done" if busy == 0 and len(kinds) == 3 and ok else "busy")
' 2>/dev/null || echo starting)
    if [ "$state" = done ]; then
      log "first assessment done in $((SECONDS - start)) s"
      return 0
    fi
    if [ $((SECONDS - start)) -gt "$limit" ]; then
      tail -20 "$logfile" >&2
      log "no complete assessment after $limit s; see $logfile"
      return 1
    fi
    sleep 2
  done
}
