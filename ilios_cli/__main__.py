from ilios_cli.main import main

raise SystemExit(main())
