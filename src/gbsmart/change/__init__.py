"""SEC Section D: Draft and Modification Proposals, the Change Board, the Authority, releases, the register."""
