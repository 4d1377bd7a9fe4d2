"""The wallet: a payment institution (EMI / branchless bank) that participates in the switch."""
