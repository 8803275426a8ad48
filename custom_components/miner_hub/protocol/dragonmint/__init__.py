"""DragonMint / Halong T1 (and Innosilicon) HTTP firmware API client."""
