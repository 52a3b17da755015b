from batch_service.cli import main

main()
