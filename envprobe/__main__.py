from envprobe.cli import main

raise SystemExit(main())
