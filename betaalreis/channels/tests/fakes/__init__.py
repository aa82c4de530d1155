"""Local fake provider servers on 127.0.0.1 that check requests the way the
providers document them and produce webhooks signed the way they sign them."""
