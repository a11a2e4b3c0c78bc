from vidclear.cli import main

raise SystemExit(main())
