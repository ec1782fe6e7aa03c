from headwater.infra.cli import main

raise SystemExit(main())
