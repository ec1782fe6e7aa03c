from headwater.commands.cli import main

raise SystemExit(main())
