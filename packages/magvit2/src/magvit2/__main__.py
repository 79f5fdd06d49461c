from magvit2.cli import main

raise SystemExit(main())
