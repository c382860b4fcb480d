"""ghc-hub: a GraphQL hub that derives the health code colour from source systems' facts."""
