# Shell functions the test-server scripts share; sourced, never run.

# free_port prints the first port from $1 up that nothing listens on at 127.0.0.1. The
# port is only free when asked: a caller that loses it to another process must retry.
free_port() {
  local p=$1
  while (echo >"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
  echo "$p"
}
