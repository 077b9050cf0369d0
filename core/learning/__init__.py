"""Learning from reviewed traffic: labelled customer messages, and retrains that are scored
on held-out data before they go live.

`labels` stores labels (encrypted, audited, linked to the turn they came from);
`review_queue` finds the turns that need a look; `retrain` trains and scores a candidate
model; `service` runs retrains in the background and keeps every replica on the live
model; `csv_import` reads `concierge examples import` files.
"""
