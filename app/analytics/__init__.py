"""Analytics: honest attribution, funnels, experiments and the merchant dashboard."""
