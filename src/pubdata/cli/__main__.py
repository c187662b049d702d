from pubdata.cli import main

main()
