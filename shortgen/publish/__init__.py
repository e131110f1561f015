"""Publishing: does a file meet the platform's rules (``check``), and Content Credentials (``sign``, ``verify``)."""
