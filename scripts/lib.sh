# Shared shell helpers of scripts/demo and scripts/test (sourced, not run).

section() { printf '\n==> %s\n' "$*"; }

# Use the active virtualenv, or create .venv in the repository and install the
# pinned requirements into it (again only when tests/requirements.txt changed).
ensure_venv() {
  if [ -z "${VIRTUAL_ENV:-}" ]; then
    if [ ! -x "$ROOT/.venv/bin/python" ]; then
      section "create .venv"
      "${PYTHON:-python3.11}" -m venv "$ROOT/.venv" 2>/dev/null || python3 -m venv "$ROOT/.venv"
    fi
    # shellcheck disable=SC1091
    . "$ROOT/.venv/bin/activate"
  fi
  local stamp="$VIRTUAL_ENV/.rhods-gitops-requirements"
  local want
  want=$(sha256sum "$ROOT/tests/requirements.txt" | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    section "install tests/requirements.txt into $VIRTUAL_ENV"
    python -m pip install --quiet --disable-pip-version-check --upgrade pip
    python -m pip install --quiet --disable-pip-version-check -r "$ROOT/tests/requirements.txt"
    echo "$want" > "$stamp"
  fi
}

# Make `rhods.gitops` resolve to this source tree for ansible-playbook and friends.
ensure_collection_path() {
  # Outside the tree (a link inside it would make the tree contain itself), one
  # directory per checkout.
  local base
  base="${LOCALCLUSTER_CACHE:-$HOME/.cache/rhods-gitops}/collections/$(printf %s "$ROOT" | sha256sum | cut -c1-12)"
  mkdir -p "$base/ansible_collections/rhods"
  ln -sfn "$ROOT" "$base/ansible_collections/rhods/gitops"
  export ANSIBLE_COLLECTIONS_PATH="$base${ANSIBLE_COLLECTIONS_PATH:+:$ANSIBLE_COLLECTIONS_PATH}"
}
