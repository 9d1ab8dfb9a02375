include $(sort $(wildcard $(BR2_EXTERNAL_RUSTSAMPLE_PATH)/package/*/*.mk))
