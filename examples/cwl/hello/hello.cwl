#!/usr/bin/env cwl-runner
# Enclave's smallest CWL example: greets `name` and shouts the greeting. Two steps,
# no containers, no network; runs in about two seconds with cwltool --no-container.
cwlVersion: v1.2
class: Workflow
doc: Writes "Hello, <name>!" to greeting.txt and its upper-case form to shout.txt.

inputs:
  name:
    type: string
    default: world

outputs:
  greeting:
    type: File
    outputSource: greet/greeting
  shout:
    type: File
    outputSource: capitalise/shouted

steps:
  greet:
    in:
      name: name
    out: [greeting]
    run:
      class: CommandLineTool
      baseCommand: [printf, "Hello, %s!\n"]
      inputs:
        name:
          type: string
          inputBinding: {position: 1}
      outputs:
        greeting:
          type: stdout
      stdout: greeting.txt

  capitalise:
    in:
      greeting: greet/greeting
    out: [shouted]
    run:
      class: CommandLineTool
      baseCommand: [tr, "[:lower:]", "[:upper:]"]
      inputs:
        greeting: File
      stdin: $(inputs.greeting.path)
      outputs:
        shouted:
          type: stdout
      stdout: shout.txt
