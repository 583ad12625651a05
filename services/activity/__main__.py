from services.activity.app import main

main()
