#!/usr/bin/env bash
# tests/package/test-deb.sh RELEASE_DIR: the Debian package, as a user would check it.
#   1. builds it (cmake --build RELEASE_DIR --target deb; nothing to do after `make deb`);
#   2. lintian: no error or warning that packaging/storyloom.lintian-overrides does not explain;
#   3. its contents (and make install's, with DESTDIR and PREFIX=/usr/local), its conffile,
#      and the unit (systemd-analyze verify, and security: the exposure stays at most 2.0);
#   4. installs it into a scratch root with `dpkg --root` (the maintainer scripts run outside
#      it, honouring DPKG_ROOT): files, the conffile's record, the storyloom user, the data
#      directory it owns, the enabled unit, `storyloom --version`; installs it again over
#      an edited conffile (kept);
#   5. runs the installed binary as the storyloom user with the installed config, its data
#      in the scratch root's /var/lib/storyloom, on a free loopback port: /healthz answers and
#      a workflow completes, and under strace every system call it and espeak-ng make is one
#      the unit's SystemCallFilter allows (systemd itself does not run here);
#   6. purges it: nothing the package owned is left, nor its data directory; only the
#      account files stay (Debian keeps system users).
# The scratch root holds no libraries, so dpkg is told --force-depends, and the binary runs
# on this machine's. Runs as root (dpkg --root, and switching to the storyloom user).
set -euo pipefail
export LC_ALL=C

rel=$(cd "${1:?usage: test-deb.sh RELEASE_DIR}" && pwd)
begin=$(date +%s%N)
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
step() { echo "== $*"; }

if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: needs root (dpkg --root, and running the server as the storyloom user)"
  exit 77
fi
for tool in lintian dpkg-deb systemd-analyze curl setpriv strace python3; do
  command -v "$tool" >/dev/null || fail "$tool is missing: run scripts/install-deps"
done
[ -f "$rel/CMakeCache.txt" ] || fail "$rel is not a configured build tree: run make deb"

work=$(mktemp -d /tmp/storyloom-deb-test.XXXXXX)
server=""
cleanup() {
  if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
    # strace's child first: a tracee outlives a killed tracer.
    for p in $(cat "/proc/$server/task/$server/children" 2>/dev/null) "$server"; do
      kill -KILL "$p" 2>/dev/null || true
    done
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# 1. The package.
step "build"
cmake --build "$rel" --target deb >"$work/build.log" 2>&1 || {
  cat "$work/build.log" >&2
  fail "cmake --build $rel --target deb"
}
version=$("$rel/storyloom" --version | awk '{print $2}')
arch=$(dpkg --print-architecture)
deb="$rel/storyloom_${version}_${arch}.deb"
[ -f "$deb" ] || fail "no $deb (storyloom --version says $version)"
[ "$(dpkg-deb -f "$deb" Package)" = storyloom ] || fail "Package is not storyloom"
[ "$(dpkg-deb -f "$deb" Version)" = "$version" ] || fail "Version is not $version"
[ "$(dpkg-deb -f "$deb" Architecture)" = "$arch" ] || fail "Architecture is not $arch"
echo "$(basename "$deb"), $(stat -c %s "$deb") bytes"

# 2. lintian, with the overrides the package ships. Informational tags are shown, not failed.
step "lintian"
rc=0
lintian --info --fail-on error,warning "$deb" >"$work/lintian.log" 2>&1 || rc=$?
grep -v '^running with root privileges' "$work/lintian.log" || true
[ "$rc" = 0 ] ||
  fail "lintian reports an error or warning (above) not explained in packaging/storyloom.lintian-overrides"

# 3. Contents: exactly these files, and the conffile.
step "contents"
dpkg-deb --fsys-tarfile "$deb" | tar -t | grep -v '/$' | sed 's|^\./|/|' | sort >"$work/files"
sort >"$work/expected" <<'EOF'
/etc/storyloom/storyloom.toml
/lib/systemd/system/storyloom.service
/usr/bin/storyloom
/usr/lib/sysusers.d/storyloom.conf
/usr/lib/tmpfiles.d/storyloom.conf
/usr/share/bash-completion/completions/storyloom
/usr/share/doc/storyloom/changelog.gz
/usr/share/doc/storyloom/copyright
/usr/share/lintian/overrides/storyloom
/usr/share/man/man1/storyloom.1.gz
/usr/share/zsh/vendor-completions/_storyloom
EOF
diff -u "$work/expected" "$work/files" || fail "the package's files differ from the list above"
dpkg-deb -e "$deb" "$work/control"
[ "$(cat "$work/control/conffiles")" = /etc/storyloom/storyloom.toml ] ||
  fail "conffiles is not /etc/storyloom/storyloom.toml"
for s in postinst prerm postrm; do
  [ -x "$work/control/$s" ] || fail "no executable $s"
  sh -n "$work/control/$s" || fail "$s: shell syntax"
done

# make install's rules for another prefix, with DESTDIR: the same files under /usr/local, the
# unit pointing at them.
step "cmake --install (DESTDIR, PREFIX=/usr/local)"
DESTDIR="$work/stage" cmake --install "$rel" --prefix /usr/local >"$work/install.log" 2>&1 || {
  cat "$work/install.log" >&2
  fail "cmake --install with DESTDIR"
}
(cd "$work/stage" && find . -type f | sed 's|^\.||' | sort) >"$work/installed"
sed 's|^/etc/|/usr/local/etc/|;t;s|^/lib/|/usr/local/lib/|;t;s|^/usr/|/usr/local/|' "$work/files" |
  sort >"$work/expected-local"
diff -u "$work/expected-local" "$work/installed" || fail "make install's files differ from the package's"
grep -qxF 'ExecStart=/usr/local/bin/storyloom --config /usr/local/etc/storyloom/storyloom.toml serve' \
  "$work/stage/usr/local/lib/systemd/system/storyloom.service" ||
  fail "the /usr/local unit does not run /usr/local/bin/storyloom with /usr/local/etc's config"

# 4. Install into a scratch root laid out like a system: dpkg's database and the
# directories systemd's helpers expect.
step "install (dpkg --root)"
root="$work/root"
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/etc/systemd/system" \
  "$root/var/lib/systemd"
touch "$root/var/lib/dpkg/status"
chmod 755 "$work" # the storyloom user walks to its data directory below
(cd "$root" && find . | sort) >"$work/before"
dpkg --root="$root" --force-script-chrootless --force-depends -i "$deb" >"$work/dpkg-i.log" 2>&1 || {
  cat "$work/dpkg-i.log" >&2
  fail "dpkg --root -i"
}
query() { dpkg-query --admindir="$root/var/lib/dpkg" -W -f="$1" storyloom 2>/dev/null; }
[ "$(query '${Status}')" = "install ok installed" ] || fail "not installed: $(query '${Status}')"
while read -r f; do
  [ -f "$root$f" ] || fail "$f is not installed"
done <"$work/files"
[ -x "$root/usr/bin/storyloom" ] || fail "/usr/bin/storyloom is not executable"
query '${Conffiles}' | grep -Eq '^ /etc/storyloom/storyloom.toml [0-9a-f]{32}$' ||
  fail "the conffile is not registered: $(query '${Conffiles}')"
grep -q '^data_dir = "/var/lib/storyloom"$' "$root/etc/storyloom/storyloom.toml" ||
  fail "the packaged config does not put data_dir in /var/lib/storyloom"

entry=$(grep '^storyloom:' "$root/etc/passwd") || fail "no storyloom user in <root>/etc/passwd"
IFS=: read -r _ _ uid gid _ home shell <<<"$entry"
[ "$home" = /var/lib/storyloom ] || fail "the storyloom user's home is $home"
[ "$shell" = /usr/sbin/nologin ] || fail "the storyloom user's shell is $shell"
[ "$uid" -lt 1000 ] || fail "storyloom is not a system user (uid $uid)"
grep -q "^storyloom:x:$gid:" "$root/etc/group" || fail "no storyloom group with gid $gid"
[ "$(stat -c '%u:%g %a' "$root/var/lib/storyloom")" = "$uid:$gid 750" ] ||
  fail "/var/lib/storyloom is $(stat -c '%u:%g %a' "$root/var/lib/storyloom"), not $uid:$gid 750"
[ "$(readlink "$root/etc/systemd/system/multi-user.target.wants/storyloom.service")" = \
  /lib/systemd/system/storyloom.service ] || fail "storyloom.service is not enabled"
echo "user storyloom ($uid:$gid), /var/lib/storyloom owned by it, service enabled"

out=$("$root/usr/bin/storyloom" --version) || fail "storyloom --version exits non-zero"
[ "$out" = "storyloom $version" ] || fail "storyloom --version prints '$out'"
zcat "$root/usr/share/doc/storyloom/changelog.gz" | head -1 | grep -qF "storyloom ($version) " ||
  fail "packaging/changelog's newest entry is not $version"
zcat "$root/usr/share/man/man1/storyloom.1.gz" | grep -q '^\.TH STORYLOOM "1"' ||
  fail "storyloom.1 is not a man page of section 1"

# Installing again (an upgrade's path through postinst, "configure <old version>") keeps an
# edited conffile and the user, and leaves the service enabled.
sed -i 's/^port = 8080$/port = 8181/' "$root/etc/storyloom/storyloom.toml"
dpkg --root="$root" --force-script-chrootless --force-depends -i "$deb" >"$work/dpkg-i2.log" 2>&1 || {
  cat "$work/dpkg-i2.log" >&2
  fail "dpkg --root -i, a second time"
}
grep -qx 'port = 8181' "$root/etc/storyloom/storyloom.toml" || fail "reinstalling lost an edit of the conffile"
[ "$(grep -c '^storyloom:' "$root/etc/passwd")" = 1 ] || fail "reinstalling changed the storyloom user"
[ -L "$root/etc/systemd/system/multi-user.target.wants/storyloom.service" ] ||
  fail "reinstalling left the service disabled"
echo "reinstalled: the edited conffile, the user and the enabled unit kept"

# The unit as installed: the command, the user, the hardening, then systemd's own checks.
step "unit"
unit="$root/lib/systemd/system/storyloom.service"
for line in \
  'ExecStart=/usr/bin/storyloom --config /etc/storyloom/storyloom.toml serve' \
  'User=storyloom' 'StateDirectory=storyloom' 'Restart=on-failure' 'ProtectSystem=strict' \
  'ProtectHome=yes' 'PrivateTmp=yes' 'NoNewPrivileges=yes' 'CapabilityBoundingSet=' \
  'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6' 'ProtectKernelTunables=yes' \
  'ProtectKernelModules=yes' 'ProtectKernelLogs=yes' 'SystemCallFilter=@system-service' \
  'WantedBy=multi-user.target'; do
  grep -qxF "$line" "$unit" || fail "the unit has no line '$line'"
done
# systemd-analyze checks that the command exists and that man:storyloom(1) resolves: point
# both into the scratch root (the copy differs from the unit in that path only).
sed "s|=/usr/bin/storyloom |=$root/usr/bin/storyloom |" "$unit" >"$work/storyloom.service"
rc=0
MANPATH="$root/usr/share/man" systemd-analyze verify "$work/storyloom.service" >"$work/verify.log" 2>&1 ||
  rc=$?
if [ "$rc" != 0 ] || [ -s "$work/verify.log" ]; then # a warning is a failure too
  cat "$work/verify.log" >&2
  fail "systemd-analyze verify"
fi
systemd-analyze security --offline=true --threshold=20 "$work/storyloom.service" >"$work/security.log" 2>&1 || {
  cat "$work/security.log" >&2
  fail "systemd-analyze security: exposure above 2.0"
}
grep 'Overall exposure level' "$work/security.log" | sed 's/^→ //'

# 5. Serve, as the storyloom user, with the packaged config and the scratch root's data dir,
# under strace: one workflow (the offline provider: Cairo pictures, espeak-ng narration), then
# every system call the server and its children made must pass the unit's SystemCallFilter.
step "serve"
as_user() { setpriv --reuid="$uid" --regid="$gid" --clear-groups --inh-caps=-all env HOME=/nonexistent "$@"; }
sl() { as_user "$root/usr/bin/storyloom" --config "$root/etc/storyloom/storyloom.toml" --data-dir "$root/var/lib/storyloom" "$@"; }
install -d -o "$uid" -g "$gid" "$work/trace"
# setpriv and env exec, so $server is strace's pid and the server is its child.
setpriv --reuid="$uid" --regid="$gid" --clear-groups --inh-caps=-all env HOME=/nonexistent \
  strace -f -qq -o "$work/trace/serve" "$root/usr/bin/storyloom" \
  --config "$root/etc/storyloom/storyloom.toml" --data-dir "$root/var/lib/storyloom" \
  serve --port 0 >"$work/serve.log" 2>&1 &
server=$!
url=""
for _ in $(seq 300); do # until it prints its address: up to 30 s
  url=$(sed -n 's|^Storyloom is running at \(http://127\.0\.0\.1:[0-9]*\) .*|\1|p' "$work/serve.log")
  [ -n "$url" ] && break
  kill -0 "$server" 2>/dev/null || break
  sleep 0.1
done
[ -n "$url" ] || {
  cat "$work/serve.log" >&2
  fail "storyloom serve did not start on 127.0.0.1"
}
health=$(curl -sS --max-time 10 -w ' %{http_code}' "$url/healthz") || fail "GET $url/healthz"
[ "${health##* }" = 200 ] || fail "GET /healthz answered $health"
[ -f "$root/var/lib/storyloom/storyloom.db" ] || fail "no database in <root>/var/lib/storyloom"
[ "$(stat -c %u "$root/var/lib/storyloom/storyloom.db")" = "$uid" ] ||
  fail "the database is not the storyloom user's"
token=$(sl tokens create admin 2>/dev/null | tail -1)
created=$(curl -sS --max-time 10 -H "Authorization: Bearer $token" \
  -d '{"prompt":"A lighthouse keeper finds a map","options":{"scenes":1,"video":true}}' "$url/api/v1/workflows")
field() { python3 -c 'import json, sys; print(json.load(sys.stdin).get(sys.argv[1], ""))' "$1"; }
id=$(field id <<<"$created" 2>/dev/null) || id=""
[ -n "$id" ] || fail "POST /api/v1/workflows answered $created"
status=""
for _ in $(seq 600); do # until it finishes: up to 60 s
  status=$(curl -sS --max-time 10 -H "Authorization: Bearer $token" "$url/api/v1/workflows/$id" |
    field status 2>/dev/null) || status=""
  case "$status" in completed | failed | cancelled) break ;; esac
  sleep 0.1
done
[ "$status" = completed ] || fail "workflow $id is $status, not completed"
find "$root/var/lib/storyloom/save_outputs/$id" -name '*.wav' | grep -q . ||
  fail "workflow $id has no narration (espeak-ng)"
# The video was encoded under the same system-call filter (libx264's threads included).
[ -s "$root/var/lib/storyloom/save_outputs/$id/video/story.mp4" ] ||
  fail "workflow $id has no story.mp4"
spid=$(cat "/proc/$server/task/$server/children" 2>/dev/null) || spid=""
spid=${spid%% *}
[ -n "$spid" ] || fail "no server process under strace"
kill -TERM "$spid"
rc=0
wait "$server" || rc=$?
server=""
[ "$rc" = 0 ] || {
  cat "$work/serve.log" >&2
  fail "storyloom serve exited $rc after SIGTERM"
}
echo "$url/healthz: 200 (${health% *}); workflow $id completed with its video; stopped cleanly"

grep -q 'execve("[^"]*espeak-ng"' "$work/trace/serve" || fail "the trace has no espeak-ng"

# The unit's filter, SystemCallFilter=@system-service then ~@privileged, expanded.
expand() {
  systemd-analyze syscall-filter "$1" | sed -n 's/^    //p' | while read -r w; do
    case "$w" in
      @*) expand "$w" ;;
      \#*) ;;
      *) echo "$w" ;;
    esac
  done
}
expand @system-service | sort -u >"$work/allowed"
expand @privileged | sort -u >"$work/privileged"
# strace pads the pid column ("7669  read(" beside "27017 read("): a pid shorter than the
# widest one so far is followed by more than one space.
sed -n 's/^[0-9]\{1,\} \{1,\}\(<\.\.\. \)\{0,1\}\([a-z0-9_]\{1,\}\)[ (].*/\2/p' "$work/trace/serve" |
  sort -u >"$work/used"
[ "$(wc -l <"$work/used")" -ge 20 ] || fail "could not read the system calls from the trace"
comm -23 "$work/used" "$work/allowed" >"$work/denied"
comm -12 "$work/used" "$work/privileged" >>"$work/denied"
if [ -s "$work/denied" ]; then
  while read -r call; do # each denied call, with the first lines of the trace that made it
    echo "denied: $call" >&2
    grep -m 3 -E "^[0-9]+ +(<\.\.\. )?$call[ (]" "$work/trace/serve" >&2 || true
  done <"$work/denied"
  fail "system calls the unit's SystemCallFilter denies (above)"
fi
echo "$(wc -l <"$work/used") system calls, all allowed by SystemCallFilter"

# 6. Purge: the package's files, its data and its enablement go; the account files stay.
step "purge (dpkg --root --purge)"
dpkg --root="$root" --force-script-chrootless --purge storyloom >"$work/dpkg-p.log" 2>&1 || {
  cat "$work/dpkg-p.log" >&2
  fail "dpkg --root --purge"
}
[ -z "$(query '${Status}')" ] || [ "$(query '${Status}')" = "unknown ok not-installed" ] ||
  fail "still known to dpkg: $(query '${Status}')"
while read -r f; do
  [ ! -e "$root$f" ] || fail "$f is left after purge"
done <"$work/files"
(cd "$root" && find . | grep -v '^\./var/lib/dpkg/' | sort) >"$work/after"
grep -v '^\./var/lib/dpkg/' "$work/before" | sort >"$work/before-nodpkg"
comm -13 "$work/before-nodpkg" "$work/after" >"$work/left"
printf '%s\n' ./etc/.pwd.lock ./etc/group ./etc/gshadow ./etc/passwd ./etc/shadow >"$work/accounts"
if comm -23 "$work/left" "$work/accounts" | grep -q .; then
  comm -23 "$work/left" "$work/accounts" >&2
  fail "left in the root after purge (above)"
fi
echo "purged: nothing left but the account files"

echo "PASS in $((($(date +%s%N) - begin) / 1000000)) ms"
