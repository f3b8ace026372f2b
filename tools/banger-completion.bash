# bash completion for banger: source it or drop it in
# /usr/share/bash-completion/completions/banger.
_banger() {
  local cur prev words cword
  _init_completion 2>/dev/null || { cur=${COMP_WORDS[COMP_CWORD]}; prev=${COMP_WORDS[COMP_CWORD-1]}; words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD; }
  local globals="--home --daemon --cert --key --ca --output -o --timeout --help"
  case "$prev" in
    --home|--cert|--key|--ca|--kernel|--rootfs|--initrd) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    -o|--output) COMPREPLY=($(compgen -W "text json" -- "$cur")); return ;;
    --vmm) COMPREPLY=($(compgen -W "firecracker qemu" -- "$cur")); return ;;
    --signal) COMPREPLY=($(compgen -W "TERM KILL INT HUP QUIT USR1 USR2" -- "$cur")); return ;;
  esac
  local cmd=() i
  for ((i = 1; i < cword; i++)); do
    case "${words[i]}" in
      --home|--daemon|--cert|--key|--ca|-o|--output|--timeout) ((i++)) ;;
      -*) ;;
      *) cmd+=("${words[i]}") ;;
    esac
  done
  local opts=""
  case "${cmd[0]} ${cmd[1]}" in
    " ") COMPREPLY=($(compgen -W "init daemon image vm op doctor $globals" -- "$cur")); return ;;
    "daemon ") opts="status" ;;
    "image ") opts="add build ls show rm" ;;
    "vm ") opts="create ls show start stop restart rm kill ssh logs" ;;
    "op ") opts="show" ;;
    "init "*) opts="--vmm --port --set --force --daemon-group" ;;
    "doctor "*) opts="--fix" ;;
    "image add") opts="--kernel --rootfs --initrd --boot-args" ;;
    "image build") opts="--vmm" ;;
    "vm create") opts="--image --name --cpus --memory --start --no-wait" ;;
    "vm start") opts="--wait" ;;
    "vm kill") opts="--signal" ;;
    "vm logs") opts="--follow -f" ;;
  esac
  COMPREPLY=($(compgen -W "$opts $globals" -- "$cur"))
}
complete -F _banger banger
