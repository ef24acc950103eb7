// The smallest useful tradecheck client: checks one declaration given as a
// JSON file and prints the outcome. It includes only the client's public,
// gRPC-free headers; build target tradecheck_check_example.
//
//   tradecheck_check_example examples/customs/my-palm-oil-import.json
#include <fstream>
#include <iostream>
#include <sstream>

#include "client/declaration_json.h"
#include "client/errors.h"
#include "client/tradecheck_client.h"
#include "client/verdict_format.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: " << argv[0] << " DECLARATION.json\n";
    return 1;
  }
  std::ifstream file(argv[1]);
  std::stringstream json;
  json << file.rdbuf();
  auto declaration = tradecheck::ParseDeclarationJson(json.str(), argv[1]);
  if (!declaration.ok()) {
    std::cerr << declaration.status().message() << "\n";
    return 2;
  }

  tradecheck::ClientOptions options;  // 127.0.0.1:50051, 10 s deadline
  auto client = tradecheck::TradecheckClient::Create(options);
  if (!client.ok()) {
    std::cerr << client.status() << "\n";
    return 1;
  }
  auto response = (*client)->Check(*declaration);
  if (!response.ok()) {
    std::cerr << tradecheck::DescribeError(response.status()) << "\n";
    return 3;
  }
  std::cout << tradecheck::OutcomeName(response->verdict().outcome()) << " "
            << response->verdict().decision_id() << "\n";
  return 0;
}
