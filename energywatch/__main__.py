from energywatch.cli import main

main()
