from service.worker.cli import main

raise SystemExit(main())
