"""The fixed vocabulary of fraud categories, shared by the simulator's labels, the rules,
the models, the cache and the reports."""

EXTERNAL_CHANNEL = "external_channel"      # lure to KakaoTalk, Telegram, a phone number, e-mail...
PHISHING_LINK = "phishing_link"            # links outside the platform, look-alike payment pages
ACCOUNT_TRANSFER = "account_transfer"      # pay into a bank account / refuse the safe payment
SUSPICIOUS_CONTEXT = "suspicious_context"  # weak signals: urgency, "I'm abroad", too-good price
STOLEN_IMAGE = "stolen_image"              # a photo reused from another listing or seller
IMAGE_TEXT = "image_text"                  # contact details written inside a picture
ANOMALOUS_BEHAVIOUR = "anomalous_behaviour"  # seller behaviour that stands out

TEXT_CATEGORIES = (EXTERNAL_CHANNEL, PHISHING_LINK, ACCOUNT_TRANSFER, SUSPICIOUS_CONTEXT)
LABEL_CATEGORIES = (EXTERNAL_CHANNEL, PHISHING_LINK, ACCOUNT_TRANSFER, STOLEN_IMAGE, IMAGE_TEXT, ANOMALOUS_BEHAVIOUR)
ALL_CATEGORIES = TEXT_CATEGORIES + (STOLEN_IMAGE, IMAGE_TEXT, ANOMALOUS_BEHAVIOUR)
