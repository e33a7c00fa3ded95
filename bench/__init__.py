"""The load benchmark (`make bench`): the vote path against the server's own baseline."""
