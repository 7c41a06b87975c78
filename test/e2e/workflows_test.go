package e2e

// Snakefiles written for the suite. Each does one thing the tests watch from outside.

// failingSnakefile has one rule whose command exits 3.
const failingSnakefile = `rule all:
    input: "never.txt"

rule fail:
    output: "never.txt"
    shell: "echo failing on purpose >&2; exit 3"
`

// sleepingSnakefile writes the pid of its long sleep to pid.txt (exec makes the shell's
// pid the sleep's), so a test can check that cancelling really stops the process.
const sleepingSnakefile = `rule all:
    input: "done.txt"

rule sleep:
    output: "done.txt"
    shell: "echo $$ > pid.txt; exec sleep 300"
`

// onceSnakefile appends a line to attempts.txt each time its job starts, sleeps for the
// "sleep" parameter (seconds) and then writes its output: attempts.txt tells how many
// times the workflow ran.
const onceSnakefile = `SLEEP = int(config.get("sleep", 5))

rule all:
    input: "done.txt"

rule slow:
    output: "done.txt"
    params: seconds=SLEEP
    shell: "echo started >> attempts.txt; sleep {params.seconds}; echo done > {output}"
`
