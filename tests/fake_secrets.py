"""Realistic fake secrets and personal data for the privacy tests, built from pieces so that no
scanner mistakes this file for a leak."""

USER_NAME = "hkowalski"
E_MAIL = "hanna.kowalski@" + "contoso-pharma.example"
URL_E_MAIL = E_MAIL.replace("@", "%40")  # as in a query string
ORG_NAME = "Contoso Pharmaceuticals International GmbH"
PASSWORD = "Pl4typ0s-" + "Wombat"
TWILIO_SID = "AC" + "3f9b2c4e1d7a8065b3c9e2f4a1d7b806"
TWILIO_TOKEN = "d2f4a1c9e7b3058a" + "6c1e9f2b4d7a3c50"
TWILIO_KEY_SID = "SK" + "2b7e9c1f4a3d8065b3c9e2f4a1d7b806"
TWILIO_KEY_SECRET = "Xq7LmZ2vT9wY1nB3" + "cD5fG6hJ0pQsUaEi"
SENDGRID = "SG." + "ngeVfQFYQlKU0ufo8x5d1A.TwL2iGABf9DHoTf-09kqeF8tAmbihYzrnopKc-1s5cr"
DISCORD = "MTA4NzY1NDMyMTA5ODc2NTQzMg" + ".GhIjKl.Xq7LmZ2vT9wY1nB3cD5fG6hJ0pQsUaEi8kR"
DATABRICKS = "dapi" + "0123456789abcdef0123456789abcdef"
TELEGRAM = "6183045792:" + "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"
NGROK = "2NeR3FhXrPqjuVpd3FeJ9v6S9Q4" + "_6Ueqh2DR1xL8wtHPnZQm5"
WANDB = "8f1c0a9e4b7d2c8f5a3e9b1d" + "7c4a2f8e6b0d3c91"
KAGGLE = "5f2c1a9e0b7d4c3e" + "8a6f1b2d9c0e7a4f"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"

# The formats recognised wherever they stand (test_privacy.py puts them in every position it tries).
KEY_FORMATS = [TWILIO_SID, TWILIO_KEY_SID, SENDGRID, DISCORD, DATABRICKS, TELEGRAM]
