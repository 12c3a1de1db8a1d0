"""Customer energy-use services: peak/valley analysis and saving suggestions, customer
lists and their export, available capacity, push campaigns, energy-service requests."""
