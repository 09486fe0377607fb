# Sourced by scripts/demo and scripts/test: a .venv in the repo root with the
# project and what it needs, Debian packages included.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PYTHON="${PYTHON:-python3}"

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else echo "bootstrap: need root to run: $*" >&2; return 1
    fi
}

# ensure_debian_packages PKG...: install those not installed yet (one apt-get update at most).
ensure_debian_packages() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
            || missing+=("$pkg")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "bootstrap: please install ${missing[*]} (no apt-get here)" >&2
        return 1
    fi
    echo "bootstrap: installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
}

# ensure_venv [EXTRAS]: .venv with the project installed (editable), with pip extras.
ensure_venv() {
    local extras="${1:-}"
    if [ ! -x "$VENV/bin/python" ]; then
        "$PYTHON" -m venv "$VENV" 2>/dev/null || {
            ensure_debian_packages python3-venv
            rm -rf "$VENV"
            "$PYTHON" -m venv "$VENV"
        }
    fi
    local stamp="$VENV/.installed-$(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)${extras:+-$extras}"
    if [ ! -f "$stamp" ]; then
        "$VENV/bin/python" -m pip install -q --upgrade pip
        "$VENV/bin/python" -m pip install -q -e "$ROOT${extras:+[$extras]}"
        touch "$stamp"
    fi
}
