"""Pictures of runs: state diagrams of coverage, sequence diagrams of traces."""
