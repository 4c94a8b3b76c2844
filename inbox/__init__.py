"""The conversational inbox: shoppers' SMS replies, live to support agents beside the cart they left."""
