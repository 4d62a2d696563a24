"""``python -m cwtmae_cli`` runs the CLI."""

from cwtmae_cli.cli.app import main

main()
