"""Entry script of a skill worker: runs one tool call in this fresh process.

    python -I -S agentos_worker.py --sdk DIR --skill DIR \\
           --cpu-seconds N --memory-bytes N --open-files N

The protocol is docs/worker-protocol.md; the code is agentos/_worker.py, so that its
bytecode is cached next to the SDK (a script is compiled on every start, and start-up
time is the floor of every capability call).
"""

import sys

if __name__ == "__main__":
    sys.path.insert(0, __file__.rpartition("/")[0] or ".")  # the SDK folder: this one
    from agentos._worker import main

    main(sys.argv[1:])
