#!/usr/bin/env bash
# Starts, stops and reports the production shape of the gateway on this machine, for trying it out and for
# the failover test (ops/failover-test.ts):
#
#   etcd (one node)  <-  Patroni node1 + node2 (PostgreSQL 15, synchronous_mode)
#   HAProxy :primary (the node whose Patroni answers GET /primary)  <-  PgBouncer (transaction pooling)
#   <-  N gateway instances  <-  HAProxy :http (GET /ready checks)
#
# Usage: ops/topology.sh start [--instances N] | stop | status
#
# Every daemon runs as a non-root user (the `postgres` account when this script runs as root, otherwise the
# caller), in a fresh temporary directory, on 127.0.0.1 only. Each daemon's own PID is recorded when it
# starts (with its start time, so a reused PID is never mistaken for it), and `stop` ends exactly those
# processes and the PostgreSQL servers Patroni started in that directory, nothing else. Every wait is
# bounded. Missing packages are installed with apt-get when running as root.
#
# Environment:
#   HA_BASE_PORT       first of the loopback ports used (default 16400; see `ports` below)
#   HA_INSTANCES       gateway instances (default 2; --instances overrides)
#   HA_POOL_SIZE       DATABASE_POOL_SIZE of each gateway (default 10)
#   HA_PGBOUNCER_POOL  PgBouncer default_pool_size (default 20)
#   HA_GATEWAY_DATABASE  pgbouncer (default) or direct: what the instances' DATABASE_URL points at
#   HA_STATE_POINTER   file that records where a running topology keeps its state
#                      (default ops/.topology-<base port>, so topologies on other ports never share it)
#   HA_USER            account the daemons run as when started by root (default postgres)
#   HA_GATEWAY_USER    account the gateway instances run as when started by root (default: HA_USER); set it
#                      to root when the checkout or node is out of HA_USER's reach (a clone in root's home)
#   HA_KEEP_STATE      1 keeps the temporary directory (logs, data) after stop
# Other variables the gateway reads (RATE_LIMIT_REQUESTS, LOG_LEVEL, ...) are passed on to the instances.
set -Eeuo pipefail
export PATH=$PATH:/usr/sbin:/sbin
# A signal ends the script through its EXIT trap, so an interrupted start stops what it had started.
trap 'exit 130' INT
trap 'exit 143' TERM

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ops=$repo/ops
base_port=${HA_BASE_PORT:-16400}
pointer=${HA_STATE_POINTER:-$ops/.topology-$base_port}

say() { printf '[topology %3ds] %s\n' "$SECONDS" "$*" >&2; }
die() { say "error: $*"; exit 1; }

# ---------------------------------------------------------------------------------------------------------
# Ports: all on 127.0.0.1, at fixed offsets from HA_BASE_PORT.
ports() {
  etcd_port=$((base_port + 0))
  etcd_peer_port=$((base_port + 1))
  node1_rest_port=$((base_port + 10))
  node1_pg_port=$((base_port + 11))
  node2_rest_port=$((base_port + 20))
  node2_pg_port=$((base_port + 21))
  primary_port=$((base_port + 30))
  pgbouncer_port=$((base_port + 31))
  stats_port=$((base_port + 32))
  http_port=$((base_port + 40))
  gateway_first_port=$((base_port + 50))
}

# ---------------------------------------------------------------------------------------------------------
# Packages. Installing them must not start Debian's own services (which would run as root on the standard
# ports): policy-rc.d exiting 101 tells package scripts not to; any existing one is put back afterwards.
packages=(patroni etcd-server etcd-client python3-etcd pgbouncer haproxy)

missing_packages() {
  local package
  for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}\n' "$package" 2>/dev/null | grep -q 'install ok installed' || echo "$package"
  done
}

install_packages() {
  local missing
  missing=$(missing_packages)
  [[ -z $missing ]] && return 0
  [[ $EUID -eq 0 ]] || die "missing packages ($(echo $missing)); install them as root: apt-get install -y --no-install-recommends ${packages[*]}"
  say "installing ${packages[*]} with apt-get"
  local policy=/usr/sbin/policy-rc.d saved=""
  if [[ -e $policy ]]; then
    saved=$(mktemp)
    cp -p "$policy" "$saved"
  fi
  printf '#!/bin/sh\n# Temporary: keeps package installation from starting services.\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  local status=0
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}"; } \
    >/dev/null || status=$?
  if [[ -n $saved ]]; then mv -f "$saved" "$policy"; else rm -f "$policy"; fi
  [[ $status -eq 0 ]] || die "apt-get failed (exit $status)"
}

postgres_bin() {
  local directory
  for directory in /usr/lib/postgresql/*/bin; do
    [[ -x $directory/postgres && -x $directory/pg_ctl ]] && { echo "$directory"; return; }
  done
  directory=$(dirname "$(command -v postgres 2>/dev/null || echo /nonexistent/postgres)")
  [[ -x $directory/postgres ]] && { echo "$directory"; return; }
  die "PostgreSQL server binaries not found (apt-get install postgresql)"
}

# ---------------------------------------------------------------------------------------------------------
# Processes. `as_user` runs a command as the daemons' account; setsid gives each daemon a session of its
# own (a Ctrl-C in this terminal does not reach it) and, like setpriv, replaces itself with the command, so
# $! is the daemon's own PID.
as_user=()
daemon_user=$(id -un)
# The gateway instances need no database files, only the checkout and node: they may run as another account.
gateway_as=()
gateway_user=$(id -un)
choose_user() {
  if [[ $EUID -eq 0 ]]; then
    daemon_user=${HA_USER:-postgres}
    id "$daemon_user" >/dev/null 2>&1 || die "user $daemon_user does not exist (set HA_USER)"
    as_user=(setpriv "--reuid=$daemon_user" "--regid=$(id -g "$daemon_user")" --init-groups --)
    gateway_user=${HA_GATEWAY_USER:-$daemon_user}
    id "$gateway_user" >/dev/null 2>&1 || die "user $gateway_user does not exist (set HA_GATEWAY_USER)"
    if [[ $gateway_user == "$(id -un)" ]]; then
      gateway_as=()
    else
      gateway_as=(setpriv "--reuid=$gateway_user" "--regid=$(id -g "$gateway_user")" --init-groups --)
    fi
  fi
}

start_time() { awk '{ print $22 }' "/proc/$1/stat" 2>/dev/null; }

# launch NAME LOG COMMAND...: starts a daemon and records "NAME PID START_TIME" in the state's pid list.
launch() {
  local name=$1 log=$2
  shift 2
  setsid "${as_user[@]}" "$@" </dev/null >>"$log" 2>&1 &
  local pid=$! comm
  # Until setsid and setpriv have replaced themselves with the daemon, the PID still shows their name.
  for _ in $(seq 1 50); do
    comm=$(cat "/proc/$pid/comm" 2>/dev/null || echo gone)
    [[ $comm != setsid && $comm != setpriv ]] && break
    sleep 0.05
  done
  [[ $comm == gone ]] && die "$name exited at once; see $log"
  echo "$name $pid $(start_time "$pid")" >>"$state/pids"
}

# Whether the recorded process is still the one we started.
alive() { [[ -e /proc/$2 && $(start_time "$2") == "$3" ]]; }

# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.2 s until it succeeds or time runs out.
wait_for() {
  local seconds=$1 what=$2
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "timed out after ${seconds}s waiting for $what (logs in $state)"
    sleep 0.2
  done
}

http_ok() { curl -fsS -m 2 -o /dev/null "$1"; }
# HAProxy counts every server up until its first check: wait until it sees node1 alone as the primary.
haproxy_sees_primary() {
  [[ $(curl -fsS -m 2 "http://127.0.0.1:$stats_port/;csv" | awk -F, '$1 == "postgres_primary" && $2 ~ /^node/ { printf "%s=%s ", $2, $18 }') \
    == "node1=UP node2=DOWN " ]]
}
psql_ok() { PGPASSWORD=$2 PGCONNECT_TIMEOUT=2 psql -X -q -h 127.0.0.1 -p "$1" -U "$3" -d "$4" -c 'SELECT 1' >/dev/null; }

# ---------------------------------------------------------------------------------------------------------
render() { # render TEMPLATE OUTPUT KEY=VALUE...
  local template=$1 output=$2 text
  shift 2
  text=$(<"$template")
  local pair key value
  for pair in "$@"; do
    key=${pair%%=*}
    value=${pair#*=}
    text=${text//@$key@/$value}
  done
  local unfilled
  unfilled=$(grep -v '^[#;]' <<<"$text" | grep -oE '@[A-Z0-9_]+@' | sort -u | tr '\n' ' ' || true)
  [[ -z $unfilled ]] || die "unfilled placeholders in $output: $unfilled"
  printf '%s\n' "$text" >"$output"
}

random_secret() { od -An -tx1 -N16 /dev/urandom | tr -d ' \n'; }

load_state() {
  [[ -f $pointer ]] || return 1
  state=$(<"$pointer")
  [[ -f $state/topology.env ]] || return 1
  # shellcheck disable=SC1091
  source "$state/topology.env"
}

running_pids() {
  local name pid started
  [[ -f $state/pids ]] || return 0
  while read -r name pid started; do
    alive "$name" "$pid" "$started" && echo "$name $pid"
  done <"$state/pids"
}

# ---------------------------------------------------------------------------------------------------------
start() {
  local instances=${HA_INSTANCES:-2}
  while [[ $# -gt 0 ]]; do
    case $1 in
      --instances) instances=${2:?--instances needs a number}; shift 2 ;;
      *) die "unknown option $1" ;;
    esac
  done
  [[ $instances =~ ^[1-9][0-9]?$ ]] || die "--instances must be 1..99"
  if load_state 2>/dev/null; then
    [[ -z $(running_pids) ]] || die "a topology is already running (state in $state); run: ops/topology.sh stop"
    # What a failed start left for inspection; nothing of it runs any more.
    say "removing the previous, stopped topology's directory $state"
    rm -rf "$state"
  fi
  local began=$SECONDS
  ports
  install_packages
  choose_user
  local pg_bin
  pg_bin=$(postgres_bin)
  # The instances run as the daemons' account too, so it must be able to run this node and read the repo
  # (a node installed under a private directory, or a checkout in root's home, is out of its reach).
  if ! "${gateway_as[@]}" "$(command -v node)" -e 'require("fs").accessSync(process.argv[1], require("fs").constants.R_OK)' \
    "$repo/src/main.ts" >/dev/null 2>&1; then
    die "user $gateway_user cannot run $(command -v node) or read $repo/src/main.ts; make both readable to it (or set HA_GATEWAY_USER)"
  fi
  local port
  for port in $etcd_port $etcd_peer_port $node1_rest_port $node1_pg_port $node2_rest_port $node2_pg_port \
    $primary_port $pgbouncer_port $stats_port $http_port $(seq "$gateway_first_port" $((gateway_first_port + instances - 1))); do
    [[ -z $(ss -Hltn "sport = :$port") ]] || die "port $port is in use (set HA_BASE_PORT to another base)"
  done

  state=$(mktemp -d "${TMPDIR:-/tmp}/ledger-ha.XXXXXX")
  chmod 755 "$state"
  mkdir -p "$state"/{etcd,node1,node2,haproxy,pgbouncer,gateways}
  : >"$state/pids"
  echo "$state" >"$pointer"
  chown -R "$daemon_user:" "$state"
  # If anything below fails, stop what has started so far (the logs stay, for `stop` to remove).
  trap 'status=$?; if [[ $status -ne 0 ]]; then say "start failed; stopping what was started"; stop_topology; fi' EXIT

  local superuser_password replication_password app_password
  superuser_password=$(random_secret)
  replication_password=$(random_secret)
  app_password=$(random_secret)
  local direct_url="postgresql://ledger:$app_password@127.0.0.1:$primary_port/ledger"
  local pooled_url="postgresql://ledger:$app_password@127.0.0.1:$pgbouncer_port/ledger"
  cat >"$state/topology.env" <<EOF
HA_STATE_DIR=$state
HA_INSTANCES=$instances
HA_DAEMON_USER=$daemon_user
HA_PG_BIN=$pg_bin
HA_ETCD_PORT=$etcd_port
HA_NODE1_REST_PORT=$node1_rest_port
HA_NODE1_PG_PORT=$node1_pg_port
HA_NODE2_REST_PORT=$node2_rest_port
HA_NODE2_PG_PORT=$node2_pg_port
HA_PRIMARY_PORT=$primary_port
HA_PGBOUNCER_PORT=$pgbouncer_port
HA_STATS_PORT=$stats_port
HA_HTTP_PORT=$http_port
HA_GATEWAY_FIRST_PORT=$gateway_first_port
HA_SUPERUSER_PASSWORD=$superuser_password
HA_DIRECT_URL=$direct_url
HA_POOLED_URL=$pooled_url
EOF
  chmod 600 "$state/topology.env"

  # etcd: the distributed configuration store where Patroni keeps the leader key.
  say "starting etcd on :$etcd_port"
  launch etcd "$state/etcd/etcd.log" etcd --name etcd0 --data-dir "$state/etcd/data" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer_port" \
    --initial-cluster "etcd0=http://127.0.0.1:$etcd_peer_port" --initial-cluster-state new \
    --initial-cluster-token "ledger-ha-$etcd_port" --logger=zap --log-outputs=stderr
  wait_for 20 "etcd" http_ok "http://127.0.0.1:$etcd_port/health"

  # Patroni: node1 bootstraps the cluster and becomes the primary; node2 clones it and follows as the
  # synchronous standby.
  local node rest pg
  for node in node1 node2; do
    if [[ $node == node1 ]]; then rest=$node1_rest_port pg=$node1_pg_port; else rest=$node2_rest_port pg=$node2_pg_port; fi
    render "$ops/patroni.yml.template" "$state/$node/patroni.yml" NODE=$node NODE_DIR="$state/$node" \
      REST_PORT=$rest PG_PORT=$pg ETCD_PORT=$etcd_port PG_BIN="$pg_bin" \
      SUPERUSER_PASSWORD="$superuser_password" REPLICATION_PASSWORD="$replication_password"
    chmod 600 "$state/$node/patroni.yml"
  done
  chown -R "$daemon_user:" "$state"
  chmod 700 "$state/node1" "$state/node2"
  say "starting Patroni node1 (PostgreSQL :$node1_pg_port, REST :$node1_rest_port)"
  launch patroni-node1 "$state/node1/patroni.out" patroni "$state/node1/patroni.yml"
  wait_for 60 "node1 to become the primary" http_ok "http://127.0.0.1:$node1_rest_port/primary"
  say "starting Patroni node2 (PostgreSQL :$node2_pg_port, REST :$node2_rest_port)"
  launch patroni-node2 "$state/node2/patroni.out" patroni "$state/node2/patroni.yml"
  wait_for 60 "node2 to become the synchronous standby" http_ok "http://127.0.0.1:$node2_rest_port/sync"

  # HAProxy: routes the primary port to whichever node Patroni reports as primary, and HTTP to the gateways.
  local primary_servers gateway_servers="" index
  primary_servers=$(printf '    server node1 127.0.0.1:%s check port %s\n    server node2 127.0.0.1:%s check port %s' \
    "$node1_pg_port" "$node1_rest_port" "$node2_pg_port" "$node2_rest_port")
  for index in $(seq 1 "$instances"); do
    gateway_servers+="    server gateway$index 127.0.0.1:$((gateway_first_port + index - 1)) check"$'\n'
  done
  render "$ops/haproxy.cfg.template" "$state/haproxy/haproxy.cfg" PRIMARY_PORT=$primary_port HTTP_PORT=$http_port \
    STATS_PORT=$stats_port PRIMARY_SERVERS="$primary_servers" GATEWAY_SERVERS="${gateway_servers%$'\n'}"
  say "starting HAProxy (primary :$primary_port, HTTP :$http_port, stats :$stats_port)"
  launch haproxy "$state/haproxy/haproxy.log" haproxy -db -f "$state/haproxy/haproxy.cfg"
  wait_for 20 "HAProxy to route to node1 alone" haproxy_sees_primary
  wait_for 20 "PostgreSQL through HAProxy" psql_ok "$primary_port" "$superuser_password" postgres postgres

  # The application's role and database, created once on the primary (the standby follows).
  PGPASSWORD=$superuser_password psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$primary_port" -U postgres -d postgres \
    -c "CREATE ROLE ledger LOGIN PASSWORD '$app_password'" -c "CREATE DATABASE ledger OWNER ledger" >/dev/null

  # PgBouncer: transaction pooling in front of HAProxy's primary port.
  render "$ops/pgbouncer.ini.template" "$state/pgbouncer/pgbouncer.ini" PRIMARY_PORT=$primary_port \
    PGBOUNCER_PORT=$pgbouncer_port STATE_DIR="$state" DEFAULT_POOL_SIZE="${HA_PGBOUNCER_POOL:-20}"
  printf '"ledger" "%s"\n' "$app_password" >"$state/pgbouncer/userlist.txt"
  chown -R "$daemon_user:" "$state/pgbouncer"
  chmod 600 "$state/pgbouncer/userlist.txt"
  say "starting PgBouncer on :$pgbouncer_port"
  launch pgbouncer "$state/pgbouncer/pgbouncer.out" pgbouncer "$state/pgbouncer/pgbouncer.ini"
  wait_for 20 "PostgreSQL through PgBouncer" psql_ok "$pgbouncer_port" "$app_password" ledger ledger

  # Migrations run once, here, over the direct connection (PgBouncer's transaction mode would keep Prisma's
  # advisory lock on a pooled connection). The instances then find every migration applied and skip them.
  say "migrating over the direct connection"
  (cd "$repo" && DATABASE_URL=$direct_url timeout 300 npm run --silent migrate) >"$state/migrate.log" 2>&1 \
    || { cat "$state/migrate.log" >&2; die "npm run migrate failed"; }
  # The first tenant (which also keeps the gateways from creating demo data), then a read-write key, made
  # while the gateways start.
  local tenant_json tenant_id key_creation
  tenant_json=$(cd "$repo" && DATABASE_URL=$direct_url timeout 120 npm run --silent keys -- create-tenant --name "Local topology" --json)
  tenant_id=$(node -e 'process.stdout.write(JSON.parse(process.argv[1]).id)' "$tenant_json")
  (cd "$repo" && DATABASE_URL=$direct_url timeout 120 npm run --silent keys -- create --tenant "$tenant_id" --name topology \
    --scopes read,write --json) >"$state/key.json" 2>"$state/key.err" &
  key_creation=$!

  # The gateway instances, on PgBouncer. node is started directly (not through npm) so its PID is recorded.
  local gateway_urls="" gateway_port gateway_database_url=$pooled_url
  # PgBouncer 1.18 in transaction mode cannot route prepared statements (1.21+ can, with
  # max_prepared_statements), so the instances behind it run without them.
  local prepared_statements=false
  case ${HA_GATEWAY_DATABASE:-pgbouncer} in
    pgbouncer) ;;
    direct)
      gateway_database_url=$direct_url prepared_statements=true
      say "the instances connect to the primary directly, not through PgBouncer"
      ;;
    *) die "HA_GATEWAY_DATABASE must be pgbouncer or direct" ;;
  esac
  for index in $(seq 1 "$instances"); do
    gateway_port=$((gateway_first_port + index - 1))
    say "starting gateway $index on :$gateway_port"
    (cd "$repo" && as_user=("${gateway_as[@]}") && DATABASE_URL=$gateway_database_url DATABASE_POOL_SIZE=${HA_POOL_SIZE:-10} \
      DATABASE_PREPARED_STATEMENTS=$prepared_statements MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-2} \
      PORT=$gateway_port HOST=127.0.0.1 \
      TRUSTED_PROXIES=${TRUSTED_PROXIES:-1} GRAPHIQL=${GRAPHIQL:-false} LOG_LEVEL=${LOG_LEVEL:-warn} \
      launch "gateway$index" "$state/gateways/gateway$index.log" "$(command -v node)" --heap-growing-percent=100 --import tsx src/main.ts)
    gateway_urls+="http://127.0.0.1:$gateway_port/graphql "
  done
  for index in $(seq 1 "$instances"); do
    wait_for 90 "gateway $index to be ready" http_ok "http://127.0.0.1:$((gateway_first_port + index - 1))/ready"
  done
  wait_for 20 "HAProxy to see the gateways" http_ok "http://127.0.0.1:$http_port/ready"
  wait "$key_creation" || { cat "$state/key.err" >&2; die "creating the API key failed"; }
  local api_key
  api_key=$(node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).secret)' "$state/key.json")
  rm -f "$state/key.json"
  {
    echo "HA_TENANT_ID=$tenant_id"
    echo "HA_API_KEY=$api_key"
  } >>"$state/topology.env"
  echo "HA_GATEWAY_URLS=\"${gateway_urls% }\"" >>"$state/topology.env"
  echo "HA_HTTP_URL=http://127.0.0.1:$http_port/graphql" >>"$state/topology.env"
  trap - EXIT

  cat <<EOF
Topology running (started in $((SECONDS - began)) s; state and logs in $state):
  GraphQL (HAProxy):      http://127.0.0.1:$http_port/graphql
  gateway instances:      ${gateway_urls% }
  API key (read, write):  $api_key   (tenant $tenant_id)
  PgBouncer (gateways):   postgresql://ledger:***@127.0.0.1:$pgbouncer_port/ledger
  primary (migrations):   postgresql://ledger:***@127.0.0.1:$primary_port/ledger
  HAProxy stats:          http://127.0.0.1:$stats_port/
  Patroni REST:           http://127.0.0.1:$node1_rest_port/cluster
  passwords:              in $state/topology.env
Stop it with: ops/topology.sh stop
EOF
}

# ---------------------------------------------------------------------------------------------------------
# Ends what `start` recorded, newest first, then any PostgreSQL server still running in this state's data
# directories (Patroni starts them; after a failover test the postmaster may be a new process).
stop_topology() {
  # In groups, each stopped at once: the gateways (they finish in-flight requests), the proxies, the
  # Patroni nodes (each stops its PostgreSQL on the way out), etcd.
  local group
  for group in 'gateway*' 'pgbouncer haproxy' 'patroni-*' etcd; do
    stop_group "$group"
    say "stopped: $group"
  done
  local node data postmaster deadline
  for node in node1 node2; do
    data=$state/$node/data
    [[ -f $data/postmaster.pid ]] || continue
    postmaster=$(head -n 1 "$data/postmaster.pid")
    [[ $postmaster =~ ^[0-9]+$ && -e /proc/$postmaster ]] || continue
    # Only a server whose command line names this data directory.
    tr '\0' ' ' <"/proc/$postmaster/cmdline" | grep -qF "$data" || continue
    say "stopping the PostgreSQL server of $node ($postmaster)"
    kill -INT "$postmaster" 2>/dev/null || true
    deadline=$((SECONDS + 15))
    while [[ -e /proc/$postmaster ]] && ((SECONDS < deadline)); do sleep 0.1; done
    [[ -e /proc/$postmaster ]] && kill -KILL "$postmaster" 2>/dev/null || true
  done
}

# stop_group PATTERNS: SIGTERM to every recorded process whose name matches, SIGKILL after 20 s.
stop_group() {
  local patterns=$1 name pid started pattern targets=()
  [[ -f $state/pids ]] || return 0
  while read -r name pid started; do
    for pattern in $patterns; do
      # shellcheck disable=SC2053
      [[ $name == $pattern ]] && alive "$name" "$pid" "$started" && targets+=("$name $pid $started")
    done
  done <"$state/pids"
  [[ ${#targets[@]} -gt 0 ]] || return 0
  local target
  for target in "${targets[@]}"; do
    read -r name pid started <<<"$target"
    kill -TERM "$pid" 2>/dev/null || true
  done
  local deadline=$((SECONDS + 20))
  for target in "${targets[@]}"; do
    read -r name pid started <<<"$target"
    while alive "$name" "$pid" "$started" && ((SECONDS < deadline)); do sleep 0.1; done
    if alive "$name" "$pid" "$started"; then
      say "$name ($pid) did not stop within 20 s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
}

stop() {
  if ! load_state; then
    say "no topology recorded in $pointer; nothing to stop"
    rm -f "$pointer"
    return 0
  fi
  local began=$SECONDS
  stop_topology
  if [[ ${HA_KEEP_STATE:-0} == 1 ]]; then
    say "kept $state"
  else
    rm -rf "$state"
    say "removed $state"
  fi
  rm -f "$pointer"
  say "stopped in $((SECONDS - began)) s"
}

status() {
  if ! load_state; then
    echo "not running (no topology recorded in $pointer)"
    return 3
  fi
  echo "state: $state"
  local name pid started
  while read -r name pid started; do
    if alive "$name" "$pid" "$started"; then echo "  $name: running (pid $pid)"; else echo "  $name: not running"; fi
  done <"$state/pids"
  local node rest role
  for node in 1 2; do
    rest=HA_NODE${node}_REST_PORT
    role=$(curl -s -m 2 "http://127.0.0.1:${!rest}/patroni" | node -e \
      'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{const j=JSON.parse(s);process.stdout.write(`${j.role} ${j.state}`)}catch{process.stdout.write("unreachable")}})')
    echo "  node$node (Patroni): $role"
  done
  echo "  HAProxy primary: $(curl -s -m 2 "http://127.0.0.1:$HA_STATS_PORT/;csv" | awk -F, '$1=="postgres_primary" && $2 ~ /^node/ { printf "%s=%s ", $2, $18 }')"
  echo "  GraphQL: $HA_HTTP_URL (ready: $(curl -s -m 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HA_HTTP_PORT/ready"))"
}

case ${1:-} in
  start) shift; start "$@" ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: ops/topology.sh start [--instances N] | stop | status" >&2; exit 2 ;;
esac
