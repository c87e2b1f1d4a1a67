"""The fast stylizer: a feed-forward transform network trained with tfstyle's own objective."""
