"""Delta Sharing: recipient profiles and the open Delta Sharing protocol over the one read path."""
