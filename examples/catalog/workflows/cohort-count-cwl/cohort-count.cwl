#!/usr/bin/env cwl-runner
# Counts the patients of a cohort per group (sex, age band or site) with small-cell
# suppression. `cohort` is a dataset: the client sends its id, Enclave passes a File
# object with the dataset's path inside the zone. cwltool moves both outputs to outputs/;
# only outputs/summary.csv is on the catalogue entry's allow-list, so the row-level
# raw_copy.csv never leaves the zone.
cwlVersion: v1.2
class: Workflow
doc: Writes the number of patients per group to summary.csv.

inputs:
  cohort: File
  group_by:
    type: string
    default: site
  min_count:
    type: int
    default: 5
  script:
    type: File
    default:
      class: File
      location: summarise.py

outputs:
  summary:
    type: File
    outputSource: summarise/summary
  raw_copy:
    type: File
    outputSource: copy/copied

steps:
  copy:
    in:
      src: cohort
    out: [copied]
    run:
      class: CommandLineTool
      baseCommand: cp
      inputs:
        src:
          type: File
          inputBinding: {position: 1}
      arguments:
        - {position: 2, valueFrom: raw_copy.csv}
      outputs:
        copied:
          type: File
          outputBinding: {glob: raw_copy.csv}

  summarise:
    in:
      script: script
      data: copy/copied
      group_by: group_by
      min_count: min_count
    out: [summary]
    run:
      class: CommandLineTool
      baseCommand: python3
      inputs:
        script:
          type: File
          inputBinding: {position: 1}
        data:
          type: File
          inputBinding: {position: 2}
        group_by:
          type: string
          inputBinding: {position: 3}
        min_count:
          type: int
          inputBinding: {position: 4}
      arguments:
        - {position: 5, valueFrom: summary.csv}
      outputs:
        summary:
          type: File
          outputBinding: {glob: summary.csv}
