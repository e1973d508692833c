"""Text helpers shared by the recommender and the fraud rules (standard library only)."""
